"""Retraining: objects started when runs find the model degraded, on a schedule, or on request.

``policy`` decides when, ``objects`` says what to create and how it ended (both pure);
``handlers`` holds the kopf handlers and the two hooks the other resources call.
"""

from modelmonitor.controller.retraining.handlers import Step, on_run_recorded, reconcile

__all__ = ["Step", "on_run_recorded", "reconcile"]
