import tensorflow as tf

VERSION = tf.__version__
