"""The report's three models as estimators, their training loop, tuning and the train/evaluate/predict steps.

Light to import; torch and LightGBM load only when a model class is used.

Public API::

    from campaignlab.models import registry            # registry.get(name), registry.load_model(dir)
    from campaignlab.models.data import load_features  # features folder -> Features (.inputs, .label)
    from campaignlab.models.tuning import tune
    from campaignlab.models.commands import train, evaluate, predict  # the CLI steps

Modules: ``hierarchical_lgbm`` (baseline), ``shared_latent`` (Arch1), ``robust_modality`` (Arch2),
``torch_training`` (loop shared by the networks), ``base`` (estimator contract), ``data``, ``tuning``.
"""
