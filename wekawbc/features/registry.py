"""The one feature registry: every feature's name, group and formula.

The registry is the single source for the computation (:mod:`wekawbc.features.compute` reads each
entry's ``compartment``/``measure``/``channel`` to know what to compute and in which order), for
the ARFF/CSV header and for the documentation (:func:`feature_table_markdown`). Names follow
CellProfiler's ``Object_Category_Feature[_Channel]`` scheme (``Nucleus_AreaShape_FormFactor``,
``Cell_Intensity_Mean_L``, ``Cytoplasm_Texture_Contrast``); they contain only letters, digits and
``_``, so Weka accepts them unquoted.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHANNELS", "COMPARTMENTS", "FEATURES", "Feature", "feature_names", "feature_table_markdown",
           "size_power"]

COMPARTMENTS: tuple[str, ...] = ("Nucleus", "Cytoplasm", "Cell")
#: Colour channels: RGB in [0, 255]; HSV with H in degrees [0, 360), S and V in [0, 1]; CIE Lab (D65).
CHANNELS: tuple[str, ...] = ("R", "G", "B", "H", "S", "V", "L", "a", "b")


@dataclass(frozen=True)
class Feature:
    """One numeric feature.

    Attributes
    ----------
    name : str
        Attribute name (ARFF, CSV, feature dicts).
    group : str
        ``shape``, ``intensity``, ``texture``, ``lbp``, ``ratio``, ``lobes``, ``size`` (µm), ``density``
        (colour relative to the plasma) or ``granule``.
    compartment : str
        ``Nucleus``, ``Cytoplasm``, ``Cell`` (or ``NucleusCytoplasm`` for ratios between them).
    measure : str
        The measurement's key inside its group.
    channel : str or None
        Colour channel, for intensity and colour-ratio features.
    doc : str
        Formula or definition, as printed in the documentation.
    """

    name: str
    group: str
    compartment: str
    measure: str
    channel: str | None
    doc: str


_SHAPE = (
    ("Area", "number of pixels A"),
    ("Perimeter", "length P of the outer contour(s) (OpenCV arcLength, 8-connected polygon)"),
    ("FormFactor", "4πA / P²; 1 for a disc"),
    ("Solidity", "A / area of the convex hull"),
    ("Extent", "A / area of the bounding box"),
    ("Eccentricity", "√(1 − λ₂/λ₁), λ the eigenvalues of the second central moments"),
    ("MajorAxisLength", "4√λ₁: major axis of the ellipse with the same second moments"),
    ("MinorAxisLength", "4√λ₂: minor axis of that ellipse"),
    ("MaxFeretDiameter", "largest caliper width (over the convex hull, 2° steps)"),
    ("MinFeretDiameter", "smallest caliper width (over the convex hull, 2° steps)"),
    ("Convexity", "perimeter of the convex hull / P; 1 for a convex object"),
) + tuple((f"HuMoment_{i}", f"Hu's invariant moment φ{i + 1} (OpenCV HuMoments)") for i in range(7))

_STATS = (
    ("Mean", "mean over the compartment's pixels"),
    ("Std", "standard deviation over the compartment's pixels"),
    ("Quantile25", "25th percentile (quantiles over a regular sample of at most 2048 of the pixels)"),
    ("Median", "50th percentile"),
    ("Quantile75", "75th percentile"),
)

_GLCM = (
    ("Contrast", "Σ P(i,j)(i−j)² (Haralick; skimage graycoprops)"),
    ("Dissimilarity", "Σ P(i,j)|i−j|"),
    ("Homogeneity", "Σ P(i,j) / (1 + (i−j)²)"),
    ("ASM", "angular second moment Σ P(i,j)²"),
    ("Correlation", "Σ P(i,j)(i−μᵢ)(j−μⱼ) / (σᵢσⱼ)"),
    ("Entropy", "−Σ P(i,j) log₂ P(i,j)"),
)
#: GLCM settings: CIE L quantised to this many grey levels, the compartment's box resized to at
#: most ``GLCM_SIZE`` pixels on its longer side, distance 1, angles 0°, 45°, 90°, 135° averaged.
GLCM_LEVELS = 16
GLCM_SIZE = 48
#: LBP: skimage ``local_binary_pattern(P=8, R=1, method="uniform")`` on CIE L: 10 codes.
LBP_POINTS = 8
LBP_BINS = LBP_POINTS + 2

_TEXTURE_COMPARTMENTS = ("Nucleus", "Cytoplasm")


def _build() -> tuple[Feature, ...]:
    features: list[Feature] = []
    for compartment in ("Nucleus", "Cell"):
        for measure, doc in _SHAPE:
            features.append(Feature(f"{compartment}_AreaShape_{measure}", "shape", compartment, measure, None,
                                    f"{compartment.lower()}: {doc}"))
    features.append(Feature("Cytoplasm_AreaShape_Area", "shape", "Cytoplasm", "Area", None,
                            "cytoplasm: number of pixels (cell minus nucleus)"))
    for compartment in COMPARTMENTS:
        for channel in CHANNELS:
            for measure, doc in _STATS:
                features.append(Feature(f"{compartment}_Intensity_{measure}_{channel}", "intensity", compartment,
                                        measure, channel, f"{compartment.lower()}, channel {channel}: {doc}"))
    for compartment in _TEXTURE_COMPARTMENTS:
        for measure, doc in _GLCM:
            features.append(Feature(f"{compartment}_Texture_{measure}", "texture", compartment, measure, None,
                                    f"{compartment.lower()}, GLCM of CIE L ({GLCM_LEVELS} levels, distance 1, "
                                    f"4 angles averaged): {doc}"))
    for code in range(LBP_BINS):
        features.append(Feature(f"Nucleus_Texture_LBP_{code:02d}", "lbp", "Nucleus", f"LBP_{code:02d}", None,
                                f"nucleus: fraction of pixels with uniform LBP code {code} "
                                f"(P={LBP_POINTS}, R=1; code {LBP_BINS - 1} = non-uniform)"))
    features.append(Feature("Cell_NucleusAreaRatio", "ratio", "Cell", "NucleusAreaRatio", None,
                            "nucleus area / cell area (nuclear-cytoplasmic ratio)"))
    for channel in ("R", "G", "B", "S", "V", "L"):
        features.append(Feature(f"NucleusCytoplasm_MeanRatio_{channel}", "ratio", "NucleusCytoplasm", "MeanRatio",
                                channel, f"mean {channel} of the nucleus / mean {channel} of the cytoplasm"))
    for channel in ("H", "a", "b"):
        features.append(Feature(f"NucleusCytoplasm_MeanDifference_{channel}", "ratio", "NucleusCytoplasm",
                                "MeanDifference", channel,
                                f"mean {channel} of the nucleus − mean {channel} of the cytoplasm "
                                "(a difference: these channels are signed or circular)"))
    features.append(Feature("Nucleus_Lobes_Count", "lobes", "Nucleus", "Count", None,
                            "number of nucleus lobes (wekawbc.cells.lobes.assess_lobes: 0 no nucleus, 1 round/indented/band, "
                            "≥ 2 segmented: the lobe model decides segmented or not, the geometric count (on the "
                            "chromatin core under red granules) gives how many)"))
    features.append(Feature("Nucleus_Parts_Count", "lobes", "Nucleus", "Parts", None,
                            "number of separate (non-touching) nucleus parts"))
    features += _transfer_features()
    features += _granule_features()
    features += _probability_features()
    return tuple(features)


#: Granule measures (wekawbc.cells.granules.GRANULE_MEASURES, same order) and their definitions.
_GRANULES = (
    ("Presence", "fraction of the granule region whose black top-hat (disc of 2 px, cell at 64 px) exceeds 0.04"),
    ("Density", "mean black top-hat (disc of 2 px) of the grey level over the granule region"),
    ("Size", "mean black top-hat with a disc of 4 px / with a disc of 1 px (coarse granules raise it)"),
    ("Colour_Eosinophilic", "(OD_B − OD_R) / (OD_R + OD_G + OD_B) of the granule region, OD relative to the "
                            "plasma: red-orange granules high, purple and blue low"),
    ("Colour_Green", "OD_G / (OD_R + OD_G + OD_B) of the granule region (pink to purple stains absorb green)"),
    ("Colour_Strength", "OD_R + OD_G + OD_B of the granule region (mean optical density)"),
)


def _granule_features() -> list[Feature]:
    """The lobe count's confidence and border flag, then the granule measures (issue 17)."""
    features = [
        Feature("Nucleus_Lobes_Confidence", "lobes", "Nucleus", "Confidence", None,
                "the lobe model's confidence in its segmented/unsegmented answer, max(p, 1 − p) for its "
                "probability p of a segmented nucleus (wekawbc.cells.lobes.assess_lobes)"),
        Feature("Nucleus_Lobes_BorderTouch", "lobes", "Nucleus", "BorderTouch", None,
                "1 when the nucleus touches the image border (a lobe may be cut off), else 0"),
    ]
    for measure, doc in _GRANULES:
        features.append(Feature(f"Granule_{measure}", "granule", "Cytoplasm", measure, None,
                                f"granules (wekawbc.cells.granules; the cytoplasm, or the whole cell when the "
                                f"nucleus fills it): {doc}"))
    return features


#: Granule measures appended later (wekawbc.cells.granules.OVER_NUCLEUS_MEASURES, then the granule
#: model's probability), with their compartment and definition.
_GRANULES_MORE = (
    ("OverNucleus_Presence", "Nucleus", "granules over the nucleus (wekawbc.cells.granules): fraction of the "
                                        "nucleus, away from its edge, whose black top-hat (disc of 2 px, cell at "
                                        "64 px) exceeds 0.04"),
    ("OverNucleus_Density", "Nucleus", "granules over the nucleus: mean black top-hat (disc of 2 px) of the grey "
                                       "level over the nucleus, away from its edge"),
    ("Probability", "Cytoplasm", "the granule model's probability of visible granules, 1 − P(granule_colour nil) "
                                 "(wekawbc.cells.granules.granule_probabilities: a logistic regression on the granule "
                                 "measures and the nucleus's and cytoplasm's colour, fitted on the pbc development share "
                                 "to WBCAtt's granule_colour)"),
)


def _probability_features() -> list[Feature]:
    """The lobe model's probability, then the granule measures over the nucleus and the granule model's probability."""
    features = [Feature("Nucleus_Lobes_Probability", "lobes", "Nucleus", "Probability", None,
                        "the lobe model's probability p of a segmented nucleus (wekawbc.cells.lobes.assess_lobes; "
                        "Nucleus_Lobes_Count and Nucleus_Lobes_Confidence round it)")]
    features += [Feature(f"Granule_{measure}", "granule", compartment, measure, None, doc)
                 for measure, compartment, doc in _GRANULES_MORE]
    return features


#: Size features in physical units: (registry measure, shape measure it converts, power of the
#: scale, unit, definition).
SIZE_MEASURES = (
    ("Area_um2", "Area", 2, "µm²", "area"),
    ("Perimeter_um", "Perimeter", 1, "µm", "perimeter"),
    ("MaxFeret_um", "MaxFeretDiameter", 1, "µm", "largest caliper width"),
    ("MinFeret_um", "MinFeretDiameter", 1, "µm", "smallest caliper width"),
)
#: Optical-density channels of the relative colour features.
OD_CHANNELS: tuple[str, ...] = ("R", "G", "B")


def _transfer_features() -> list[Feature]:
    """Features meant to transfer between labs: physical sizes and colour relative to the plasma.

    Sizes need the image's scale (:func:`wekawbc.cells.scale.estimate_scale`), relative colour the
    plasma's colour (:func:`wekawbc.cells.stain.background_colour`); without them they are missing.
    """
    features = []
    for compartment in ("Nucleus", "Cell", "Cytoplasm"):
        for measure, _, _, unit, doc in SIZE_MEASURES if compartment != "Cytoplasm" else SIZE_MEASURES[:1]:
            features.append(Feature(f"{compartment}_Size_{measure}", "size", compartment, measure, None,
                                    f"{compartment.lower()}: {doc} in {unit} (pixels × the image's µm per pixel, "
                                    "from its red cells: wekawbc.cells.scale)"))
    features.append(Feature("Cell_Size_Diameter_um", "size", "Cell", "Diameter_um", None,
                            "cell: equivalent diameter 2√(A/π) in µm"))
    for compartment in ("Nucleus", "Cytoplasm"):
        for channel in OD_CHANNELS:
            features.append(Feature(f"{compartment}_Density_Mean_{channel}", "density", compartment, "Mean", channel,
                                    f"{compartment.lower()}: mean optical density −log10(I/I₀) of channel "
                                    f"{channel}, I₀ the plasma's median (wekawbc.cells.stain)"))
        for channel in OD_CHANNELS:
            features.append(Feature(f"{compartment}_Density_Fraction_{channel}", "density", compartment, "Fraction",
                                    channel, f"{compartment.lower()}: mean optical density of {channel} / sum over "
                                    "R, G, B (the stain's hue, whatever its strength)"))
        features.append(Feature(f"{compartment}_Density_Std", "density", compartment, "Std", None,
                                f"{compartment.lower()}: standard deviation of the summed optical density "
                                "(R+G+B) / its mean"))
        for channel in ("L", "a", "b"):
            features.append(Feature(f"{compartment}_Balanced_Mean_{channel}", "density", compartment, "Balanced",
                                    channel, f"{compartment.lower()}: CIE {channel} of its mean colour after white "
                                    "balance (the plasma made neutral white)"))
    features.append(Feature("NucleusCytoplasm_Density_Ratio", "density", "NucleusCytoplasm", "Ratio", None,
                            "summed mean optical density of the nucleus / of the cytoplasm"))
    return features


def size_power(feature: Feature) -> int:
    """The power of the scale in a ``size`` feature (2 for µm², 1 for µm; 0 for any other feature)."""
    if feature.group != "size":
        return 0
    return 2 if feature.measure.endswith("_um2") else 1


#: Every feature, in output (ARFF attribute) order.
FEATURES: tuple[Feature, ...] = _build()


def feature_names() -> tuple[str, ...]:
    """All feature names, in output order."""
    return tuple(feature.name for feature in FEATURES)


def feature_table_markdown() -> str:
    """The registry as a Markdown table (name, group, definition) for the documentation."""
    lines = ["| feature | group | definition |", "|---|---|---|"]
    lines += [f"| `{f.name}` | {f.group} | {f.doc} |" for f in FEATURES]
    return "\n".join(lines) + "\n"
