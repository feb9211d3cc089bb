"""Airflow wiring: what the DAG files in dags/ share (default args, Assets, run ids) and Airflow's environment."""
