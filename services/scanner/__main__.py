from libs.common.service import run
from services.scanner.app import NAME, build
from services.scanner.config import ScannerSettings

if __name__ == "__main__":
    run(NAME, ScannerSettings, build)
