"""The Qt desktop application: thin views over the core library (the only place Qt is imported).

``app.main`` starts it; ``main_window.MainWindow`` holds the wizard (``wizard/``), the transfer
monitor and the settings. Every slow call runs in ``workers.TaskRunner``.
"""
