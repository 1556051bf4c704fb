"""Real-world data the tests use.

``tacker-sample-basic_lcms_min``: one of Tacker's own v2 sample VNF packages
(with the ETSI SOL001 type files Tacker adds when it zips a package); see its
README for where it comes from and the one change made to it.
"""

from pathlib import Path

DATA = Path(__file__).resolve().parent
TACKER_SAMPLE = DATA / "tacker-sample-basic_lcms_min"
