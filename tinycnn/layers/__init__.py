"""Keras-style layers, one module per family."""
from .base import Layer
from .convolutional import Conv2D, Convolution2D
from .core import Activation, Dense, Dropout, Flatten, Input, InputLayer, ReLU, Rescaling
from .merging import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from .normalization import BatchNormalization
from .pooling import (AveragePooling2D, AvgPool2D, GlobalAveragePooling2D, GlobalAvgPool2D,
                      GlobalMaxPool2D, GlobalMaxPooling2D, MaxPool2D, MaxPooling2D)

__all__ = ["Layer", "Input", "InputLayer", "Dense", "Activation", "ReLU", "Rescaling", "Dropout", "Flatten",
           "Conv2D", "Convolution2D", "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D",
           "GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalMaxPooling2D", "GlobalMaxPool2D",
           "BatchNormalization", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate"]
