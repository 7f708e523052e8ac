"""The CNN's cell-only input (docs/cross_lab.md section 9): ``--framing cell-masked`` and the stains
fitted on the cell itself, ``reinhard-cell`` and ``nucleus-relative``.

Real crops of ``pbc/`` and ``jtsc/``; a lamp or stain change is applied to the same crop and the
normalised input must stay within the tolerance stated in each test.
"""

from __future__ import annotations

import numpy as np
import pytest

from wekawbc.cells.dataset import read_image
from wekawbc.cells.stain import optical_density
from wekawbc.cnn.images import (CELL_LAB_REFERENCE, MASK_FILL, NUCLEUS_OD_REFERENCE, frame_image, load_crops,
                                normalise_square, nucleus_relative, prepare_input)


def _pbc_neutrophil(datasets):
    folder = datasets / "pbc" / "images" / "neutrophil"
    return read_image(folder / sorted(path.name for path in folder.iterdir())[0])


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(float) - b.astype(float)).mean())


def _restained(image: np.ndarray, lamp: tuple[float, float, float], density: tuple[float, float, float]) -> np.ndarray:
    """The same crop under another lamp (RGB gains) and another stain strength (OD gains per channel)."""
    plasma = np.percentile(image.reshape(-1, 3), 99, axis=0)
    od = optical_density(image, plasma) * np.asarray(density)
    return np.clip(plasma * np.asarray(lamp) * 10.0 ** -od + 0.5, 0, 255).astype(np.uint8)


def _lamp_and_stain_gaps(image: np.ndarray, stain: str, framing: str) -> tuple[float, float]:
    """How much a yellow lamp and a stain 30 % stronger in red, 10 % weaker in blue change the 48-px
    input, un-normalised and under ``stain``."""
    other = _restained(image, lamp=(1.0, 0.85, 0.65), density=(1.3, 1.0, 0.9))
    options = dict(image_size=48, framing=framing)

    def gap(name: str) -> float:
        return _gap(prepare_input(other, stain=name, **options)[0], prepare_input(image, stain=name, **options)[0])

    return gap("none"), gap(stain)


@pytest.mark.parametrize("name", ["pbc", "jtsc"])
def test_nucleus_relative_input_holds_under_a_lamp_and_stain_change(datasets, name):
    """Stated tolerance: a yellow lamp and a stain 30 % stronger in red, 10 % weaker in blue change the
    ``nucleus-relative`` input by under 4 of 255 on average and by under a quarter of what they change
    the un-normalised input."""
    image = _pbc_neutrophil(datasets) if name == "pbc" else read_image(datasets / "jtsc" / "images" / "002.bmp")
    plain, relative = _lamp_and_stain_gaps(image, "nucleus-relative", "cell-masked")
    assert relative < 4.0 and relative < plain / 4, f"nucleus-relative {relative:.1f}, none {plain:.1f}"


def test_nucleus_relative_moves_the_nucleus_to_the_reference(datasets):
    framed = frame_image(_pbc_neutrophil(datasets), size=96, framing="cell", stain="nucleus-relative")
    background = np.median(framed.rgb[~framed.cell], axis=0)
    out = nucleus_relative(framed.rgb, framed.nucleus, background)
    nucleus_od = np.median(optical_density(out, np.full(3, 255.0))[framed.nucleus], axis=0)
    np.testing.assert_allclose(nucleus_od, NUCLEUS_OD_REFERENCE, atol=0.03)
    # No nucleus: the white balance alone (the plasma becomes white).
    plain = nucleus_relative(framed.rgb, np.zeros_like(framed.nucleus), background)
    assert np.abs(np.median(plain[~framed.cell], axis=0) - 255).max() <= 2


def test_reinhard_cell_fits_the_cells_own_pixels(datasets):
    from skimage.color import rgb2lab

    framed = frame_image(_pbc_neutrophil(datasets), size=96, framing="cell", stain="reinhard-cell")
    lab = rgb2lab(normalise_square(framed, "reinhard-cell", masked=False))[framed.cell]
    np.testing.assert_allclose(lab.mean(axis=0), CELL_LAB_REFERENCE[0], atol=2.5)
    np.testing.assert_allclose(lab.std(axis=0), CELL_LAB_REFERENCE[1], atol=2.5)


def test_cell_masked_framing_shows_the_cell_only(datasets):
    """Outside the segmented cell every pixel is the fill; repainting the plasma and red cells leaves
    the masked input (nearly: within 3 of 255 on average; the segmentation moves a little) as it was, while it changes the unmasked one."""
    import cv2

    from wekawbc.cells.segmentation import segment_cell

    image = _pbc_neutrophil(datasets)
    framed = frame_image(image, size=96, framing="cell-masked", stain="none")
    square = normalise_square(framed, "none", masked=True)
    assert (square[~framed.cell] == np.asarray(MASK_FILL)).all()
    assert (square[framed.cell] != np.asarray(MASK_FILL)).any(axis=1).mean() > 0.99
    around = cv2.dilate(segment_cell(image).cell_mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    repainted = np.where(around[..., None], image, np.asarray([235, 215, 160], np.uint8))  # a yellow plasma
    masked = _gap(prepare_input(repainted, framing="cell-masked")[0], prepare_input(image, framing="cell-masked")[0])
    unmasked = _gap(prepare_input(repainted, framing="cell")[0], prepare_input(image, framing="cell")[0])
    assert masked < 3.0 and unmasked > 5 * masked, f"masked {masked:.1f}, unmasked {unmasked:.1f}"


def test_load_crops_takes_the_new_options(datasets):
    crops = load_crops(datasets / "jtsc", image_size=32, framing="cell-masked", stain="nucleus-relative")
    assert crops.images.shape[1:] == (32, 32, 3) and len(crops) == 300 and not crops.skipped
    corners = crops.images[:, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners == 255).all(axis=-1).mean() > 0.9  # the cell is framed at 1.6 diameters: corners are fill


def test_stain_vector_augmentation_is_seeded_and_keeps_the_plasma_white(datasets):
    torch = pytest.importorskip("torch")
    from wekawbc.cnn.augment import augment_batch
    from wekawbc.cnn.settings import Augmentation

    square = prepare_input(read_image(datasets / "jtsc" / "images" / "002.bmp"), framing="cell-masked")[0]
    batch = torch.from_numpy(square.copy()).permute(2, 0, 1)[None].float().repeat(4, 1, 1, 1) / 255.0
    aug = Augmentation(dihedral=False, brightness=0, contrast=0, saturation=0, channel_gain=0, stain_vectors=0.2)
    first = augment_batch(batch, aug, torch.Generator().manual_seed(5))
    again = augment_batch(batch, aug, torch.Generator().manual_seed(5))
    assert torch.equal(first, again)
    fill = torch.from_numpy(square == 255).all(dim=-1)
    assert (first[:, :, fill] > 0.99).all()  # no absorbance, no stain: the fill stays white
    changed = (first - batch).abs().mean(dim=(1, 2, 3))
    assert (changed > 0.01).all() and len(set(changed.tolist())) == 4  # every image re-stained its own way
    off = augment_batch(batch, Augmentation(dihedral=False, brightness=0, contrast=0, saturation=0, channel_gain=0),
                        torch.Generator().manual_seed(5))
    assert torch.allclose(off, batch, atol=1e-5)


def test_rbc_relative_input_holds_under_a_lamp_and_stain_change(datasets):
    """Stated tolerance (a pbc crop with red cells around the leukocyte): the lamp and stain change of
    the nucleus test change the ``rbc-relative`` input by under 5 of 255 on average and under a
    third of what they change the un-normalised input; the red cells land on the reference."""
    from wekawbc.cnn.images import RBC_OD_REFERENCE, rbc_relative, red_cells

    image = _pbc_neutrophil(datasets)
    plain, relative = _lamp_and_stain_gaps(image, "rbc-relative", "cell")
    assert relative < 5.0 and relative < plain / 3, f"rbc-relative {relative:.1f}, none {plain:.1f}"
    framed = frame_image(image, size=96, framing="cell", stain="rbc-relative")
    _, rbc = red_cells(framed.rgb, framed.cell)
    out = rbc_relative(framed.rgb, framed.cell)
    np.testing.assert_allclose(np.median(optical_density(out[rbc], np.full(3, 255.0)), axis=0),
                               RBC_OD_REFERENCE, atol=0.02)
