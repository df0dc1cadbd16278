from libs.common.service import run
from services.learning.app import NAME, build
from services.learning.config import LearningSettings

if __name__ == "__main__":
    run(NAME, LearningSettings, build)
