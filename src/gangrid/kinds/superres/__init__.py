"""The `superres` study kind: single-image super-resolution (SRGAN, Ledig et al. 2017) on `superres` sets.

A `superres` dataset (gangrid.data.superres) holds high-resolution (HR) images; a run's inputs are their
bicubic downsamplings by the set's factor (2 or 4). This package:

  kind       `SuperResKind`, what the stages call; it owns superres sets (their classifier, trained on the
             HR images, and their reference row: the bicubic upsampler)
  trainer    `SuperResTrainer`: the SRResNet (pixel MSE) phase, then SRGAN's content + adversarial loss
  content    the content loss's feature extractors (the pipeline's classifier; VGG-19 from a weights file)
  evaluate   PSNR / SSIM against the HR test images and FID / KID / PRDC to them; the bicubic row
  sample     SR outputs of the fixed test inputs -> samples.npz, and LR / bicubic / SR / HR rows -> grid.png
  tracking   PSNR (it decides convergence: eval.track.primary.superres), SSIM and FID of a fixed test subset

Contract of a run's `samples.npz` (uint8 NCHW): x = SR outputs, hr = the HR test images, lr = their LR
inputs, bicubic = the bicubic upsampling of lr, y = labels (when the set has some), status.
"""

from gangrid.kinds import KindInfo, register_kind

register_kind(KindInfo(
    name="superres",
    data_kinds=("superres",),
    implementation="gangrid.kinds.superres.kind:SuperResKind",
    description="single-image super-resolution (SRGAN) against the bicubic upsampler",
))
