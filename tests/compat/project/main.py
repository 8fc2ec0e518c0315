import sys

from flowmancer import Flowmancer

if __name__ == "__main__":
    sys.exit(Flowmancer().start())
