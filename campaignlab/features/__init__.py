"""Features: text encoders (vertex, local), PDFM geo pooling, an embedding cache, the features folder.

Light to import: encoders and heavy libraries load only when used.

Public API::

    from campaignlab.features import read_features, modality_arrays, read_feature_arrays
    from campaignlab.features.embed import embed_dataset
"""

from campaignlab.features.table import (
    MODALITIES,
    TEXT_MODALITIES,
    features_schema,
    modality_arrays,
    read_feature_arrays,
    read_features,
)

__all__ = [
    "MODALITIES",
    "TEXT_MODALITIES",
    "features_schema",
    "modality_arrays",
    "read_feature_arrays",
    "read_features",
]
