from libs.common.service import run
from services.intake.app import NAME, build
from services.intake.config import IntakeSettings

if __name__ == "__main__":
    run(NAME, IntakeSettings, build)
