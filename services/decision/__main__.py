from libs.common.service import run
from services.decision.app import NAME, build
from services.decision.config import DecisionSettings

if __name__ == "__main__":
    run(NAME, DecisionSettings, build)
