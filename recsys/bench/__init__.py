"""The benchmark lab: YAML specs (``spec``), a runner with MLflow tracking (``runner``), and
reports with figures (``report``, ``plots``).

Import the submodules directly; this package stays empty so that ``recsys --help`` and the
CLI start without loading every model.
"""
