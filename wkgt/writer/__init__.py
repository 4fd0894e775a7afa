"""Writer layer: annotations built from plans, viewer URLs, uploads and rerun safety."""

from .annotation import build_annotation, default_name, describe, run_key
from .upload import AnnotationRef, find_existing, job_lock, upload
from .urls import annotation_url, dataset_view_url, zoom_for_box

__all__ = [
    "AnnotationRef",
    "annotation_url",
    "build_annotation",
    "dataset_view_url",
    "default_name",
    "describe",
    "find_existing",
    "job_lock",
    "run_key",
    "upload",
    "zoom_for_box",
]
