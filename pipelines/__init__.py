"""The retraining pipeline (``python -m pipelines.retrain``) and its Airflow DAG (``dags/``)."""
