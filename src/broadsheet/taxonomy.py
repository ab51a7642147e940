"""arXiv's subject taxonomy: category codes, their names, and the subject strings of oai_dc.

arXiv files every paper under one or more *categories* (``cs.LG``, ``hep-th``). A category code is
an *archive* (``cs``, ``hep-th``), optionally followed by a dot and a *subject class* (``LG``).
Some archives have subject classes (``cs``, ``math``, ``astro-ph``); others are a single category
(``hep-th``, ``quant-ph``). The *legacy archives* (``alg-geom``, ``chao-dyn``, ...) were merged
into others in the 1990s, but papers filed under them keep their codes.

arXiv's OAI-PMH ``oai_dc`` format names categories instead of coding them: a subject class is
``"<archive name> - <category name>"`` (``"Computer Science - Machine Learning"``), an archive
without subject classes is just its name (``"Quantum Physics"``). :func:`subject_to_category`
turns those strings back into codes.
"""

from __future__ import annotations


# Code -> name, as arXiv's category pages show them. Archive codes that also group subject classes
# (``cs``, ``math``, ...) are included: their names prefix the oai_dc subjects, and a few old papers
# carry an archive code alone (``astro-ph``, ``cond-mat``).
CATEGORY_NAMES: dict[str, str] = {
    # Computer Science
    "cs": "Computer Science",
    "cs.AI": "Artificial Intelligence",
    "cs.AR": "Hardware Architecture",
    "cs.CC": "Computational Complexity",
    "cs.CE": "Computational Engineering, Finance, and Science",
    "cs.CG": "Computational Geometry",
    "cs.CL": "Computation and Language",
    "cs.CR": "Cryptography and Security",
    "cs.CV": "Computer Vision and Pattern Recognition",
    "cs.CY": "Computers and Society",
    "cs.DB": "Databases",
    "cs.DC": "Distributed, Parallel, and Cluster Computing",
    "cs.DL": "Digital Libraries",
    "cs.DM": "Discrete Mathematics",
    "cs.DS": "Data Structures and Algorithms",
    "cs.ET": "Emerging Technologies",
    "cs.FL": "Formal Languages and Automata Theory",
    "cs.GL": "General Literature",
    "cs.GR": "Graphics",
    "cs.GT": "Computer Science and Game Theory",
    "cs.HC": "Human-Computer Interaction",
    "cs.IR": "Information Retrieval",
    "cs.IT": "Information Theory",
    "cs.LG": "Machine Learning",
    "cs.LO": "Logic in Computer Science",
    "cs.MA": "Multiagent Systems",
    "cs.MM": "Multimedia",
    "cs.MS": "Mathematical Software",
    "cs.NA": "Numerical Analysis",
    "cs.NE": "Neural and Evolutionary Computing",
    "cs.NI": "Networking and Internet Architecture",
    "cs.OH": "Other Computer Science",
    "cs.OS": "Operating Systems",
    "cs.PF": "Performance",
    "cs.PL": "Programming Languages",
    "cs.RO": "Robotics",
    "cs.SC": "Symbolic Computation",
    "cs.SD": "Sound",
    "cs.SE": "Software Engineering",
    "cs.SI": "Social and Information Networks",
    "cs.SY": "Systems and Control",
    # Economics
    "econ": "Economics",
    "econ.EM": "Econometrics",
    "econ.GN": "General Economics",
    "econ.TH": "Theoretical Economics",
    # Electrical Engineering and Systems Science
    "eess": "Electrical Engineering and Systems Science",
    "eess.AS": "Audio and Speech Processing",
    "eess.IV": "Image and Video Processing",
    "eess.SP": "Signal Processing",
    "eess.SY": "Systems and Control",
    # Mathematics
    "math": "Mathematics",
    "math.AC": "Commutative Algebra",
    "math.AG": "Algebraic Geometry",
    "math.AP": "Analysis of PDEs",
    "math.AT": "Algebraic Topology",
    "math.CA": "Classical Analysis and ODEs",
    "math.CO": "Combinatorics",
    "math.CT": "Category Theory",
    "math.CV": "Complex Variables",
    "math.DG": "Differential Geometry",
    "math.DS": "Dynamical Systems",
    "math.FA": "Functional Analysis",
    "math.GM": "General Mathematics",
    "math.GN": "General Topology",
    "math.GR": "Group Theory",
    "math.GT": "Geometric Topology",
    "math.HO": "History and Overview",
    "math.IT": "Information Theory",  # an alias of cs.IT
    "math.KT": "K-Theory and Homology",
    "math.LO": "Logic",
    "math.MG": "Metric Geometry",
    "math.MP": "Mathematical Physics",  # an alias of math-ph
    "math.NA": "Numerical Analysis",
    "math.NT": "Number Theory",
    "math.OA": "Operator Algebras",
    "math.OC": "Optimization and Control",
    "math.PR": "Probability",
    "math.QA": "Quantum Algebra",
    "math.RA": "Rings and Algebras",
    "math.RT": "Representation Theory",
    "math.SG": "Symplectic Geometry",
    "math.SP": "Spectral Theory",
    "math.ST": "Statistics Theory",
    # Physics: archives with subject classes
    "astro-ph": "Astrophysics",
    "astro-ph.CO": "Cosmology and Nongalactic Astrophysics",
    "astro-ph.EP": "Earth and Planetary Astrophysics",
    "astro-ph.GA": "Astrophysics of Galaxies",
    "astro-ph.HE": "High Energy Astrophysical Phenomena",
    "astro-ph.IM": "Instrumentation and Methods for Astrophysics",
    "astro-ph.SR": "Solar and Stellar Astrophysics",
    "cond-mat": "Condensed Matter",
    "cond-mat.dis-nn": "Disordered Systems and Neural Networks",
    "cond-mat.mes-hall": "Mesoscale and Nanoscale Physics",
    "cond-mat.mtrl-sci": "Materials Science",
    "cond-mat.other": "Other Condensed Matter",
    "cond-mat.quant-gas": "Quantum Gases",
    "cond-mat.soft": "Soft Condensed Matter",
    "cond-mat.stat-mech": "Statistical Mechanics",
    "cond-mat.str-el": "Strongly Correlated Electrons",
    "cond-mat.supr-con": "Superconductivity",
    "nlin": "Nonlinear Sciences",
    "nlin.AO": "Adaptation and Self-Organizing Systems",
    "nlin.CD": "Chaotic Dynamics",
    "nlin.CG": "Cellular Automata and Lattice Gases",
    "nlin.PS": "Pattern Formation and Solitons",
    "nlin.SI": "Exactly Solvable and Integrable Systems",
    "physics": "Physics",
    "physics.acc-ph": "Accelerator Physics",
    "physics.ao-ph": "Atmospheric and Oceanic Physics",
    "physics.app-ph": "Applied Physics",
    "physics.atm-clus": "Atomic and Molecular Clusters",
    "physics.atom-ph": "Atomic Physics",
    "physics.bio-ph": "Biological Physics",
    "physics.chem-ph": "Chemical Physics",
    "physics.class-ph": "Classical Physics",
    "physics.comp-ph": "Computational Physics",
    "physics.data-an": "Data Analysis, Statistics and Probability",
    "physics.ed-ph": "Physics Education",
    "physics.flu-dyn": "Fluid Dynamics",
    "physics.gen-ph": "General Physics",
    "physics.geo-ph": "Geophysics",
    "physics.hist-ph": "History and Philosophy of Physics",
    "physics.ins-det": "Instrumentation and Detectors",
    "physics.med-ph": "Medical Physics",
    "physics.optics": "Optics",
    "physics.plasm-ph": "Plasma Physics",
    "physics.pop-ph": "Popular Physics",
    "physics.soc-ph": "Physics and Society",
    "physics.space-ph": "Space Physics",
    # Physics: archives that are a single category
    "gr-qc": "General Relativity and Quantum Cosmology",
    "hep-ex": "High Energy Physics - Experiment",
    "hep-lat": "High Energy Physics - Lattice",
    "hep-ph": "High Energy Physics - Phenomenology",
    "hep-th": "High Energy Physics - Theory",
    "math-ph": "Mathematical Physics",
    "nucl-ex": "Nuclear Experiment",
    "nucl-th": "Nuclear Theory",
    "quant-ph": "Quantum Physics",
    # Quantitative Biology
    "q-bio": "Quantitative Biology",
    "q-bio.BM": "Biomolecules",
    "q-bio.CB": "Cell Behavior",
    "q-bio.GN": "Genomics",
    "q-bio.MN": "Molecular Networks",
    "q-bio.NC": "Neurons and Cognition",
    "q-bio.OT": "Other Quantitative Biology",
    "q-bio.PE": "Populations and Evolution",
    "q-bio.QM": "Quantitative Methods",
    "q-bio.SC": "Subcellular Processes",
    "q-bio.TO": "Tissues and Organs",
    # Quantitative Finance
    "q-fin": "Quantitative Finance",
    "q-fin.CP": "Computational Finance",
    "q-fin.EC": "Economics",
    "q-fin.GN": "General Finance",
    "q-fin.MF": "Mathematical Finance",
    "q-fin.PM": "Portfolio Management",
    "q-fin.PR": "Pricing of Securities",
    "q-fin.RM": "Risk Management",
    "q-fin.ST": "Statistical Finance",
    "q-fin.TR": "Trading and Market Microstructure",
    # Statistics
    "stat": "Statistics",
    "stat.AP": "Applications",
    "stat.CO": "Computation",
    "stat.ME": "Methodology",
    "stat.ML": "Machine Learning",
    "stat.OT": "Other Statistics",
    "stat.TH": "Statistics Theory",
    # Legacy archives, closed to new submissions and merged into the archive in the comment
    "acc-phys": "Accelerator Physics",  # physics.acc-ph
    "adap-org": "Adaptation, Noise, and Self-Organizing Systems",  # nlin.AO
    "alg-geom": "Algebraic Geometry",  # math.AG
    "ao-sci": "Atmospheric-Oceanic Sciences",  # physics.ao-ph
    "atom-ph": "Atomic, Molecular and Optical Physics",  # physics.atom-ph
    "bayes-an": "Bayesian Analysis",  # physics.data-an
    "chao-dyn": "Chaotic Dynamics",  # nlin.CD
    "chem-ph": "Chemical Physics",  # physics.chem-ph
    "cmp-lg": "Computation and Language",  # cs.CL
    "comp-gas": "Cellular Automata and Lattice Gases",  # nlin.CG
    "dg-ga": "Differential Geometry",  # math.DG
    "funct-an": "Functional Analysis",  # math.FA
    "mtrl-th": "Materials Theory",  # cond-mat.mtrl-sci
    "patt-sol": "Pattern Formation and Solitons",  # nlin.PS
    "plasm-ph": "Plasma Physics",  # physics.plasm-ph
    "q-alg": "Quantum Algebra and Topology",  # math.QA
    "solv-int": "Exactly Solvable and Integrable Systems",  # nlin.SI
    "supr-con": "Superconductivity",  # cond-mat.supr-con
}

# oai_dc subjects that the rule "<archive name> - <category name>" does not produce: names arXiv
# used before renaming a category, and placeholders from arXiv's own category tables (``X.none``
# for an archive's unnamed class, the ``test`` archive arXiv uses internally).
_SUBJECT_ALIASES: dict[str, str] = {
    "Computer Science - Learning": "cs.LG",  # renamed "Machine Learning" in 2019
    "Condensed Matter - Condensed Matter": "cond-mat.none",
    "Test": "test",
    "Test -": "test.none",
    "Test - Test Disruptive Networks": "test.dis-nn",
    "Test - Test Electrons": "test.str-el",
    "Test - Test Hall": "test.mes-hall",
    "Test - Test Mechanics": "test.stat-mech",
    "Test - Test Mtrl-Sci": "test.mtrl-sci",
    "Test - Test Soft": "test.soft",
    "Test - Test Superconductivity": "test.supr-con",
}


def oai_dc_subject(code: str) -> str:
    """The oai_dc subject string arXiv writes for a category code in ``CATEGORY_NAMES``."""
    archive, dot, _ = code.partition(".")
    if not dot:
        return CATEGORY_NAMES[code]
    return f"{CATEGORY_NAMES[archive]} - {CATEGORY_NAMES[code]}"


_SUBJECT_TO_CODE: dict[str, str] = {oai_dc_subject(code): code for code in CATEGORY_NAMES}
_SUBJECT_TO_CODE.update(_SUBJECT_ALIASES)


def subject_to_category(subject: str) -> str | None:
    """The category code of an oai_dc subject string, or None when it names no arXiv category.

    oai_dc subjects also carry MSC and ACM classes ("05C15", "I.2.6"); those map to None.
    """
    return _SUBJECT_TO_CODE.get(" ".join(subject.split()))


def category_name(code: str) -> str:
    """The human name of a category code (``"cs.LG"`` → ``"Machine Learning"``), else the code."""
    return CATEGORY_NAMES.get(code, code)
