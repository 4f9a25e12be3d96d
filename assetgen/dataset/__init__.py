"""Training data sets: `assetgen dataset JOB.yaml --out DIR` renders many subjects (made by a recipe or
taken from a library), each image with its own camera and expression, into the FaceSynthetics layout with
richer ground truth beside it and one COCO-keypoints JSON (see writer.py for the files); `preview` draws
the ground truth over a contact sheet and `validate` checks a folder.

job.py (the job YAML), sampling.py (cameras, expressions, gaze, sweeps), subjects.py, landmarks.py (70
points), gt.py (eyes and lids posed to the gaze; the gaze record, 2D-contour and dense landmarks),
contour.py (300-W's 2D-contour jaw), writer.py (per-image files), run.py (the resumable, shardable loop),
coco.py, preview.py, validate.py.
"""

from .job import DatasetJob, job_from_dict, load_job
from .run import DatasetResult, parse_shard, run_dataset

__all__ = ["DatasetJob", "DatasetResult", "job_from_dict", "load_job", "parse_shard", "run_dataset"]
