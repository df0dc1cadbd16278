from libs.common.service import run
from services.oms.app import NAME, build
from services.oms.config import OmsSettings

if __name__ == "__main__":
    run(NAME, OmsSettings, build)
