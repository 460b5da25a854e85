"""Stand-in for the get-pip.py script ansible-test downloads to bootstrap pip in its venvs.

ansible-test fetches that script from a host these machines cannot reach; pip itself is on
PyPI. The standard library's ensurepip installs the bundled pip, which then installs what
ansible-test asked for (the same arguments get-pip.py takes).
"""

import subprocess
import sys

# In a child process: in-process, ensurepip sets PIP_CONFIG_FILE=/dev/null for what follows,
# which would drop the machine's pip configuration (index, CA bundle) for the install below.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"], stdout=subprocess.DEVNULL)
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
