"""Writer layer: annotations built from plans, uploads and reconciliation, tasks, viewer URLs, files and pictures."""

from .annotation import build_annotation, default_name, describe
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
    "upload",
    "zoom_for_box",
]
