"""ModelRollout: traffic-split A/B rollouts decided by statistics on model quality.

``policy`` holds the decision rules as pure functions; routers and handlers come next.
"""
