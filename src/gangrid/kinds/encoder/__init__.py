"""The `encoder` study kind: GANs that also learn an encoder, on image datasets.

  AAE (Makhzani et al. 2016)             encoder + decoder trained to reconstruct, a discriminator
                                         matching the codes to the prior (family `aae`)
  BiGAN / ALI (Donahue et al. 2017;      an encoder beside G, a discriminator on (x, z) pairs
  Dumoulin et al. 2017)                  (family `bigan`)

Their runs train the trainers of this package, sample by decoding prior samples and are scored
like GAN samples (the `gan` kind's sampling, evaluation and in-training metrics, which this kind
builds on), plus their encoders' metrics (reconstruction error, linear-probe accuracy:
gangrid.metrics.encoders) in the report's `encoders` table. The datasets are the GAN kind's
image sets (it owns their classifier and real-data row).
"""

from gangrid.kinds import KindInfo, register_kind

register_kind(KindInfo(
    name="encoder",
    data_kinds=("image",),
    implementation="gangrid.kinds.encoder.kind:EncoderKind",
    owns_data=False,
    description="GANs with an encoder (AAE, BiGAN / ALI) on image datasets",
    builds_on=("gan",),
))
