"""The `translation` study kind: image-to-image translation (pix2pix, CycleGAN) through the same
train / sample / evaluate stages.

A study with `kind: translation` trains on a paired or unpaired image-to-image set
(`gangrid.data.store.load_translation`: domain A = input, domain B = target). Its nets
(`pix2pix`, `cyclegan` families: gangrid.nets.translation), objective terms (`l1_target`,
`cycle`, `identity`, `image_pool`: gangrid.tricks.translation) and pixel metrics (L1, PSNR,
SSIM, cycle error, target-class accuracy: gangrid.metrics.translation) are registered with
the others; this package holds what is particular to the kind:

  kind       `TranslationKind`, what the stages call
  trainer    `TranslationTrainer`: one D and one G update of every direction
  data       the fixed held-out test inputs of both directions
  sample     translating them -> samples.npz and triptychs
  evaluate   pixel and feature metrics of a run; the real-data row of a set
  classifier the domain classifier of a set's target domain(s)
  figures    input / output / target triptychs (`triptych_figure`)
  inference  `gangrid translate`: a folder of images, sliding window for large images

Contract of a translation run's `samples.npz` (uint8 NCHW unless noted):
  src      test inputs of domain A          x        their translations G(src)
  target   paired sets: the true B of src   y        labels of src (when the set has some)
  CycleGAN only:
  rec      F(G(src)), the A->B->A cycle     src_b    test inputs of domain B
  x_b      F(src_b)                         rec_b    G(F(src_b))
  target_b paired sets: the true A of src_b y_b      labels of src_b
  status   "finished" (or the status of a run that did not finish, with no arrays)
"""

from gangrid.kinds import KindInfo, register_kind

register_kind(KindInfo(
    name="translation",
    data_kinds=("paired", "unpaired"),
    implementation="gangrid.kinds.translation.kind:TranslationKind",
    description="image-to-image translation (pix2pix, CycleGAN) on paired or unpaired image sets",
))
