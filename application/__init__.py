"""The service layer: the ImpactTracker application, its settings and its event store wiring."""
