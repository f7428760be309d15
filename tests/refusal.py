"""Assert that a genotype is refused with one line naming the place and the fix."""
import pytest

from genocompile.errors import GenotypeError
from genocompile.genotype import genotype_from_dict


def refused(data, *fragments) -> str:
    with pytest.raises(GenotypeError) as info:
        genotype_from_dict(data)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message
