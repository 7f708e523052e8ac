"""Training-time augmentation of a batch, in torch (torchvision does not import beside torch 2.13 here).

Geometric: quarter turns and mirroring (a cell has no up; exact, so training crops stay as sharp as
test crops) and, optionally, any-angle rotation, zoom and shift resampled with reflection at the
border. Stain: each image's haematoxylin, eosin and residual optical densities (the colour
deconvolution of :data:`skimage.color.hed_from_rgb`) scaled independently, as another lab's stain
batch or staining time would. Colour: hue rotation, brightness, contrast, saturation and
per-channel gains (illumination and camera differ between labs). Optics: Gaussian blur (focus and
resolution). Every random draw comes from the ``torch.Generator`` passed in, so a seeded run
repeats exactly.
"""

from __future__ import annotations

import math
import torch
import torch.nn.functional as F

from wekawbc.cnn.settings import Augmentation

__all__ = ["augment_batch"]


def _uniform(n: int, half_width: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(n, generator=generator) * 2.0 - 1.0) * half_width


def _dihedral(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image turned by a random multiple of 90 degrees, then mirrored with probability 1/2."""
    turns = torch.randint(0, 4, (batch.shape[0],), generator=generator)
    mirror = torch.rand(batch.shape[0], generator=generator) < 0.5
    out = batch.clone()
    for k in range(1, 4):
        chosen = turns == k
        out[chosen] = torch.rot90(batch[chosen], k, dims=(2, 3))
    out[mirror] = torch.flip(out[mirror], dims=(3,))
    return out


def _resampled(batch: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Any-angle rotation, zoom and shift in one bilinear resampling."""
    n = batch.shape[0]
    angle = torch.rand(n, generator=generator) * (2 * math.pi) if aug.rotate else torch.zeros(n)
    zoom = 1.0 + _uniform(n, aug.scale, generator)
    shift = torch.stack([_uniform(n, 2 * aug.shift, generator), _uniform(n, 2 * aug.shift, generator)], 1)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    return F.grid_sample(batch, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _stain(batch: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Optical densities of haematoxylin, eosin and DAB each scaled by a factor in [1 - stain, 1 + stain]."""
    from skimage.color import hed_from_rgb, rgb_from_hed

    n = batch.shape[0]
    to_hed = torch.tensor(hed_from_rgb, dtype=batch.dtype)
    to_rgb = torch.tensor(rgb_from_hed, dtype=batch.dtype)
    density = -torch.log(batch.clamp(1e-3, 1.0)).permute(0, 2, 3, 1) @ to_hed  # (n, H, W, 3): H, E, D
    gains = 1.0 + _uniform(3 * n, aug.stain, generator).view(n, 1, 1, 3)
    return torch.exp(-((density * gains) @ to_rgb)).permute(0, 3, 1, 2).clamp(0.0, 1.0)


def _stain_vectors(batch: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """The image re-stained with other stain vectors: the haematoxylin/eosin/DAB densities (skimage's
    matrix) kept, each stain's RGB absorbance vector moved by Gaussian noise of std ``stain_vectors``
    (per image) and brought back to unit length, so the stains' hues change, not their amounts."""
    from skimage.color import hed_from_rgb, rgb_from_hed

    n = batch.shape[0]
    to_hed = torch.tensor(hed_from_rgb, dtype=batch.dtype)
    base = torch.tensor(rgb_from_hed, dtype=batch.dtype).expand(n, 3, 3)
    noise = torch.randn((n, 3, 3), generator=generator, dtype=batch.dtype) * aug.stain_vectors
    vectors = (base + noise).clamp_min(0.0)
    vectors = vectors / vectors.norm(dim=2, keepdim=True).clamp_min(1e-6) * base.norm(dim=2, keepdim=True)
    density = -torch.log(batch.clamp(1e-3, 1.0)).permute(0, 2, 3, 1) @ to_hed  # (n, H, W, 3): H, E, D
    return torch.exp(-torch.einsum("nhwk,nkc->nhwc", density, vectors)).permute(0, 3, 1, 2).clamp(0.0, 1.0)


def _hue(batch: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Rotation of the chroma plane about the grey axis (a hue shift that keeps luminance)."""
    n = batch.shape[0]
    angle = _uniform(n, aug.hue * 2 * math.pi, generator)
    cos, sin = torch.cos(angle).view(n, 1, 1), torch.sin(angle).view(n, 1, 1)
    third = 1.0 / 3.0
    root = math.sqrt(third)
    # Rodrigues' rotation about the unit vector (1, 1, 1)/sqrt(3), one 3x3 matrix per image.
    eye = torch.eye(3).expand(n, 3, 3)
    cross = torch.tensor([[0.0, -root, root], [root, 0.0, -root], [-root, root, 0.0]]).expand(n, 3, 3)
    outer = torch.full((n, 3, 3), third)
    rotation = cos * eye + sin * cross + (1 - cos) * outer
    return torch.einsum("nij,njhw->nihw", rotation, batch).clamp(0.0, 1.0)


def _blur(batch: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Gaussian blur of a sigma drawn per image from [0, blur] pixels (5x5 kernel, reflected border)."""
    n = batch.shape[0]
    sigma = (torch.rand(n, generator=generator) * aug.blur).clamp_min(1e-3).view(n, 1)
    offsets = torch.arange(-2, 3, dtype=batch.dtype).view(1, 5)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum(dim=1, keepdim=True)  # (n, 5)
    padded = F.pad(batch, (2, 2, 2, 2), mode="reflect")
    rows = sum(kernel[:, i].view(n, 1, 1, 1) * padded[:, :, i:i + batch.shape[2], :] for i in range(5))
    return sum(kernel[:, i].view(n, 1, 1, 1) * rows[:, :, :, i:i + batch.shape[3]] for i in range(5))


def _colour(batch: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    n = batch.shape[0]
    shape = (n, 1, 1, 1)
    batch = batch * (1.0 + _uniform(n, aug.brightness, generator)).view(shape)
    mean = batch.mean(dim=(1, 2, 3), keepdim=True)
    batch = (batch - mean) * (1.0 + _uniform(n, aug.contrast, generator)).view(shape) + mean
    grey = (0.299 * batch[:, 0:1] + 0.587 * batch[:, 1:2] + 0.114 * batch[:, 2:3])
    batch = (batch - grey) * (1.0 + _uniform(n, aug.saturation, generator)).view(shape) + grey
    gains = 1.0 + _uniform(3 * n, aug.channel_gain, generator).view(n, 3, 1, 1)
    return (batch * gains).clamp_(0.0, 1.0)


def augment_batch(batch: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Randomly transform a batch of RGB images on the 0-1 scale, shape ``(n, 3, H, W)``."""
    if aug.dihedral:
        batch = _dihedral(batch, generator)
    if aug.rotate or aug.scale or aug.shift:
        batch = _resampled(batch, aug, generator)
    if aug.stain:
        batch = _stain(batch, aug, generator)
    if aug.stain_vectors:
        batch = _stain_vectors(batch, aug, generator)
    if aug.hue:
        batch = _hue(batch, aug, generator)
    if aug.blur:
        batch = _blur(batch, aug, generator)
    return _colour(batch, aug, generator)
