"""`python -m export`: the same as `digits-export`."""

import sys

from export.onnx_export import main

sys.exit(main())
