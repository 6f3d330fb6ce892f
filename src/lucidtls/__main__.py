import sys

from lucidtls.cli import main

sys.exit(main())
