"""A seeded synthetic blood-smear generator: labelled leukocyte crops with ground-truth masks.

It gives every newcomer a data set that needs no download (``wekawbc demo``) and gives the
segmentation a truth to be scored against. See :mod:`wekawbc.synthetic.generator`.
"""

from wekawbc.synthetic.generator import (
    CELL_TYPES,
    PAPER_CLASS_COUNTS,
    SyntheticCell,
    generate_cell,
    scaled_counts,
    write_dataset,
)

__all__ = ["CELL_TYPES", "PAPER_CLASS_COUNTS", "SyntheticCell", "generate_cell", "scaled_counts", "write_dataset"]
