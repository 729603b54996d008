"""Reconstruction units from a model's graph (see plan.py); below both quant/ and recon/."""
from .plan import KNOWN_BLOCKS, LAYER_TYPES, Plan, PlannedUnit, check_user_blocks, plan_units
from .trace import Trace, execution_order, trace

__all__ = ["KNOWN_BLOCKS", "LAYER_TYPES", "Plan", "PlannedUnit", "Trace", "check_user_blocks", "execution_order", "plan_units", "trace"]
