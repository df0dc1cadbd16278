from libs.common.service import run
from services.execution.app import NAME, build
from services.execution.config import ExecutionSettings

if __name__ == "__main__":
    run(NAME, ExecutionSettings, build)
