"""Using a trained model: batch and online prediction, per-modality explanations, recommendations.

Light to import: torch, LightGBM, Captum and FastAPI load only when used.

Modules: ``campaigns`` (the raw-campaign fields a prediction needs, validated per row), ``explain``
(per-modality attribution), ``predictor`` (a loaded model + its embedding recipe), ``batch``
(``campaignlab predict --campaigns``), ``recommend`` (``campaignlab recommend``), ``app`` and ``page``
(the FastAPI service with Vertex AI's custom-container contract), ``deploy`` (Vertex AI endpoints).
"""
