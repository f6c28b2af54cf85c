"""Every size bound lrlab puts on what it is handed, in one place.

Files, share strings, run JSON, command-line flags and widget values come from outside
(a learner's CSV, a stranger's pasted string). Each is checked against these bounds
*before* any memory is allocated or any training starts, and refused with a one-line
``ValueError('field: ...')`` that names the field and says what is allowed. The README's
"Reliability" section lists them; tests read them from here, never retype them.
"""
from __future__ import annotations

#: samples a toy dataset may generate (a CSV may hold as many rows)
MAX_SAMPLES = 1_000_000
#: hidden layers and the width of each (see :func:`lrlab.nets.validate_architecture`)
MAX_DEPTH = 8
MAX_WIDTH = 1024
#: the epoch budget of one run
MAX_EPOCHS = 10_000_000
#: a learning rate: (low, high, low included, high included), for optimizers and schedules alike
LR_RANGE = (0.0, 100.0, False, True)
#: epochs a schedule is drawn or tabulated for (``lrlab schedule``, the schedule explorer)
MAX_SCHEDULE_EPOCHS = 100_000
#: rows a bounded history keeps
MAX_HISTORY_CAPACITY = 1_000_000
#: classes of a toy dataset or a CSV
MAX_CLASSES = 8
#: learning rates in one sweep / race list, and models trained together in one race
MAX_LRS = 4096
MAX_MODELS = 65_536
#: points per side of a decision-boundary or surface grid
MAX_GRID = 1000
#: seeds: what torch.Generator.manual_seed and numpy accept everywhere
MAX_SEED = 2**63 - 1

#: a CSV file: bytes read at most, data rows, characters in one cell
MAX_CSV_BYTES = 32 * 1024 * 1024
MAX_CSV_ROWS = 1_000_000
MAX_CSV_CELL = 1000
#: a share string: characters pasted, bytes after decompression
MAX_SHARE_CHARS = 100_000
MAX_SHARE_BYTES = 64 * 1024
#: a run / race / sweep JSON file read back
MAX_JSON_BYTES = 256 * 1024 * 1024
#: numbers one race or sweep holds per buffer: models x parameters per model (the CLI checks it
#: before any model is built; a race keeps several such buffers: weights, gradients, best, state)
MAX_RACE_PARAMETERS = 2**25
