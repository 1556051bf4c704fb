"""SOL013 attribute-based filters (nfvlib.filters): grammar and evaluation."""

from __future__ import annotations

import pytest

from nfvlib.exceptions import InvalidInput
from nfvlib.filters import eq_filter, parse_filter, quote

VNF = {
    "id": "v1", "vnfInstanceName": "web,db (eu)", "instantiationState": "INSTANTIATED",
    "vimConnectionInfo": {"vim1": {"vimId": "V-1", "accessInfo": {"region": "RegionOne"}}},
    "instantiatedVnfInfo": {
        "flavourId": "simple", "vnfState": "STARTED",
        "scaleStatus": [{"aspectId": "VDU1_scale", "scaleLevel": 2},
                        {"aspectId": "VDU2_scale", "scaleLevel": 0}],
    },
    "metadata": {"tier": "gold", "replicas": 3, "ha": True},
}


def matches(text: str, record=VNF) -> bool:
    return parse_filter(text).matches(record)


@pytest.mark.parametrize("text,expected", [
    ("(eq,id,v1)", True),
    ("(eq,id,v2)", False),
    ("(neq,id,v2)", True),
    ("(neq,id,v1)", False),
    ("(in,id,v0,v1,v9)", True),
    ("(nin,id,v0,v1)", False),
    ("(nin,id,v0,v9)", True),
    ("(cont,instantiationState,STANTIA)", True),
    ("(cont,instantiationState,NOT_,XYZ)", False),
    ("(ncont,instantiationState,NOT_)", True),
    ("(eq,vnfInstanceName,'web,db (eu)')", True),
    ("(cont,vnfInstanceName,'(eu)')", True),
    # nested paths; arrays are searched; * walks a map's entries
    ("(eq,instantiatedVnfInfo/flavourId,simple)", True),
    ("(eq,instantiatedVnfInfo/scaleStatus/aspectId,VDU2_scale)", True),
    ("(neq,instantiatedVnfInfo/scaleStatus/aspectId,VDU2_scale)", False),
    ("(gte,instantiatedVnfInfo/scaleStatus/scaleLevel,2)", True),
    ("(gt,instantiatedVnfInfo/scaleStatus/scaleLevel,2)", False),
    ("(lt,instantiatedVnfInfo/scaleStatus/scaleLevel,1)", True),
    ("(eq,vimConnectionInfo/*/vimId,V-1)", True),
    ("(eq,vimConnectionInfo/vim1/accessInfo/region,RegionOne)", True),
    ("(eq,vimConnectionInfo/@key,vim1)", True),
    # numbers compare as numbers, booleans as true/false
    ("(gt,metadata/replicas,10)", False),
    ("(lte,metadata/replicas,3)", True),
    ("(eq,metadata/replicas,3.0)", True),
    ("(eq,metadata/ha,true)", True),
    # several terms: all must hold
    ("(eq,id,v1);(eq,instantiatedVnfInfo/flavourId,simple)", True),
    ("(eq,id,v1);(eq,instantiatedVnfInfo/flavourId,complex)", False),
    # a missing attribute satisfies only the negative operators
    ("(eq,metadata/colour,red)", False),
    ("(neq,metadata/colour,red)", True),
    ("(nin,metadata/colour,red,blue)", True),
])
def test_operators_paths_and_terms(text, expected):
    assert matches(text) is expected


def test_quoted_values_keep_quotes_semicolons_and_spaces():
    record = {"name": "it's; odd "}
    assert matches("(eq,name,'it''s; odd ')", record)
    assert matches(f"(eq,name,{quote(record['name'])})", record)
    assert eq_filter({"name": record["name"], "id": "x"}) == "(eq,name,'it''s; odd ');(eq,id,x)"


@pytest.mark.parametrize("text,fragment", [
    ("eq,id,v1", "cannot parse filter term"),
    ("(eq,id)", "needs an operator, an attribute and a value"),
    ("(like,id,v1)", "unknown operator 'like'"),
    ("(eq,id,v1,v2)", "eq takes exactly one value, not 2"),
    ("(gt,id,1,2)", "gt takes exactly one value"),
    ("(eq,id,'v1)", "unterminated quote"),
    ("(eq,id,a(b)", "must be quoted"),
    ("(eq,a//b,1)", "empty name"),
    ("(eq,id,'x'y)", "text after a quoted value"),
])
def test_malformed_filters_are_one_clear_error(text, fragment):
    with pytest.raises(InvalidInput) as info:
        parse_filter(text)
    assert fragment in str(info.value)


def test_unknown_attribute_is_refused_when_attributes_are_known():
    with pytest.raises(InvalidInput, match="no attribute 'colour'"):
        parse_filter("(eq,colour,red)", attributes=("id", "operation"))
    assert parse_filter("(eq,operation,SCALE)", attributes=("id", "operation"))


def test_blank_filter_is_none_and_huge_filter_is_refused():
    assert parse_filter(None) is None and parse_filter("  ") is None
    with pytest.raises(InvalidInput, match="characters long"):
        parse_filter("(eq,id,x);" * 2000)


def test_the_plain_fields_of_a_vnf_record_are_the_sol003_records():
    """vnf_record gives top-level fields without building the record (vnflcm list
    reads them so); each must be what sol003.vnf_instance has, absent included."""
    import dataclasses

    from nfvlib import sol003
    from nfvlib.filters import vnf_record
    from tests.unit.compat.test_columns import INSTANTIATED, VNF

    unnamed = dataclasses.replace(VNF, name="", description="", vnf_provider=None)
    for vnf in (VNF, INSTANTIATED, unnamed):
        full = sol003.vnf_instance(vnf)
        lazy = vnf_record(vnf)
        for key in ("id", "vnfdId", "vnfProvider", "vnfProductName", "vnfSoftwareVersion",
                    "vnfdVersion", "instantiationState", "vnfInstanceName",
                    "vnfInstanceDescription"):
            assert lazy.get(key, "absent") == full.get(key, "absent"), (vnf.id, key)
