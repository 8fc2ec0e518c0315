import os
import sys

# Helpers live in log_feed.py beside this file (importlib mode does not put test folders on
# sys.path by itself); the name is unique across the workspace's test folders.
sys.path.insert(0, os.path.dirname(__file__))
