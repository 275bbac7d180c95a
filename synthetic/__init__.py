"""The world generator: synthetic B2B and B2C customers with ground truth. Knows nothing of segments."""
from synthetic.config import Behaviour, Knobs, WorldConfig
from synthetic.generator import generate
from synthetic.presets import PRESETS, preset_config
from synthetic.world import World

__all__ = ["Behaviour", "Knobs", "WorldConfig", "World", "PRESETS", "generate", "preset_config"]
