from libs.common.service import run
from services.dashboard.app import NAME, build
from services.dashboard.config import DashboardSettings

if __name__ == "__main__":
    run(NAME, DashboardSettings, build)
