from mnist_cnn.cli import main
import sys

sys.exit(main())
