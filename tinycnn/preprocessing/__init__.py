"""Input pipelines with Keras's names: :class:`image.ImageDataGenerator` for augmentation."""
from . import image
from .image import ImageDataGenerator

__all__ = ["image", "ImageDataGenerator"]
