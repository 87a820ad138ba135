"""Federated learning with Flower (the federated report): partition, model, apps, simulation, deployment.

* ``partition``  split a features folder across clients (homogeneous / Dirichlet) + server test set;
* ``model``      ``GeneralisedJointModel_3cls_feat_drop`` and the shared ``train`` / ``test`` functions;
* ``client_app`` / ``server_app``  the Flower ``ClientApp`` and ``ServerApp`` (FedAvg by examples);
* ``simulation`` ``campaignlab federate``: simulation engine run, centralized baseline, metrics, plots;
* ``deployment`` a real local federation (SuperLink + SuperNodes on 127.0.0.1, optional TLS/auth);
* ``config``     the report's five-section YAML (``default.yaml``).

Nothing here is imported by ``campaignlab.cli`` at import time; torch and flwr load on use.
"""
