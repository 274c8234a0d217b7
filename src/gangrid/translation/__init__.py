"""Image-to-image translation (pix2pix, CycleGAN) through the same train / sample / evaluate stages.

A study with `kind: translation` trains on a paired or unpaired image-to-image set
(`gangrid.data.store.load_translation`: domain A = input, domain B = target).

Modules:
  nets       U-Net and ResNet generators, PatchGAN discriminator; families `pix2pix`
             (one generator A->B, PatchGAN on (input, output) pairs) and `cyclegan`
             (G: A->B, F: B->A, one unconditional PatchGAN per domain)
  tricks     objective terms as tricks: `l1_target` (pix2pix's lambda_L1), `cycle`,
             `identity` (CycleGAN) and the `image_pool` of past translations
  trainer    `TranslationTrainer`: the translation loop, with the checkpoint contract
             of `gangrid.train.Trainer`
  stages     train-data, classifier, sample, evaluate and real-row stage functions
  metrics    L1, PSNR, SSIM, cycle error, target-class accuracy
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
