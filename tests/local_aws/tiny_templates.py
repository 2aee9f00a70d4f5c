"""Tiny CloudFormation templates, one per moto gap that local_aws.bridges closes."""

from __future__ import annotations

import copy
import json
from typing import Any

_NETWORK: dict[str, Any] = {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
    "SubnetA": {
        "Type": "AWS::EC2::Subnet",
        "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "us-east-1a"},
    },
    "SubnetB": {
        "Type": "AWS::EC2::Subnet",
        "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.2.0/24", "AvailabilityZone": "us-east-1b"},
    },
    "Alb": {
        "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "Properties": {"Name": "NAME-alb", "Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]},
    },
    "TargetGroupA": {
        "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
        "Properties": {"Name": "NAME-a", "Port": 80, "Protocol": "HTTP", "VpcId": {"Ref": "Vpc"}, "TargetType": "ip"},
    },
    "TargetGroupB": {
        "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
        "Properties": {"Name": "NAME-b", "Port": 80, "Protocol": "HTTP", "VpcId": {"Ref": "Vpc"}, "TargetType": "ip"},
    },
}

_RULE: dict[str, Any] = {
    "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
    "Properties": {
        "ListenerArn": {"Ref": "Listener"},
        "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/x/*"]}}],
        "Actions": [{"Type": "forward", "TargetGroupArn": {"Ref": "TargetGroupA"}}],
    },
}

_TARGET_GROUP_A_FULL_NAME = {"Fn::GetAtt": ["TargetGroupA", "TargetGroupFullName"]}

_GAPS: dict[str, dict[str, Any]] = {
    "alarm_model": {
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "NAME-idle",
                "AlarmDescription": "idle",
                "ComparisonOperator": "LessThanOrEqualToThreshold",
                "EvaluationPeriods": 3,
                "DatapointsToAlarm": 3,
                "Threshold": 0,
                "TreatMissingData": "breaching",
                "Metrics": [
                    {
                        "Id": "requests",
                        "ReturnData": False,
                        "MetricStat": {
                            "Metric": {
                                "Namespace": "AWS/ApplicationELB",
                                "MetricName": "RequestCount",
                                "Dimensions": [
                                    {
                                        "Name": "TargetGroup",
                                        "Value": {"Fn::GetAtt": ["TargetGroupA", "TargetGroupFullName"]},
                                    }
                                ],
                            },
                            "Period": 60,
                            "Stat": "Sum",
                        },
                    },
                    {"Id": "activity", "Expression": "FILL(requests, 0)", "ReturnData": True},
                ],
            },
        }
    },
    "secret_model": {
        "Token": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Name": "NAME/token",
                "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": True},
            },
        },
        "TokenArn": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": "/NAME/token-arn", "Type": "String", "Value": {"Ref": "Token"}},
        },
    },
    "listener_forward_config": {
        "Listener": {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Properties": {
                "LoadBalancerArn": {"Ref": "Alb"},
                "Port": 80,
                "Protocol": "HTTP",
                "DefaultActions": [
                    {
                        "Type": "forward",
                        "ForwardConfig": {
                            "TargetGroups": [
                                {"TargetGroupArn": {"Ref": "TargetGroupA"}, "Weight": 1},
                                {"TargetGroupArn": {"Ref": "TargetGroupB"}, "Weight": 0},
                            ]
                        },
                    }
                ],
            },
        }
    },
    "service_default_desired_count": {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "NAME"}},
        "TaskDefinition": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": "NAME",
                "RequiresCompatibilities": ["FARGATE"],
                "NetworkMode": "awsvpc",
                "Cpu": "256",
                "Memory": "512",
                "ContainerDefinitions": [{"Name": "app", "Image": "app:1"}],
            },
        },
        "Service": {
            "Type": "AWS::ECS::Service",
            "Properties": {
                "Cluster": {"Ref": "Cluster"},
                "ServiceName": "NAME",
                "TaskDefinition": {"Ref": "TaskDefinition"},
                "LaunchType": "FARGATE",
            },
        },
    },
    "stack_update_dependents": {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "NAME"}},
        "TaskDefinition": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": "NAME",
                "ContainerDefinitions": [{"Name": "app", "Image": {"Fn::Sub": "app:${Tag}"}, "Memory": 512}],
            },
        },
        "Service": {
            "Type": "AWS::ECS::Service",
            "Properties": {
                "Cluster": {"Ref": "Cluster"},
                "ServiceName": "NAME",
                "TaskDefinition": {"Ref": "TaskDefinition"},
                "DesiredCount": 1,
            },
        },
    },
    "target_group_attributes": {
        "FullName": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": "/NAME/target-group",
                "Type": "String",
                "Value": {"Fn::GetAtt": ["TargetGroupA", "TargetGroupFullName"]},
            },
        }
    },
    "load_balancer_full_name": {
        "FullName": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": "/NAME/load-balancer",
                "Type": "String",
                "Value": {"Fn::GetAtt": ["Alb", "LoadBalancerFullName"]},
            },
        }
    },
    "select_index_intrinsic": {
        # The next priority after a Number parameter: CloudFormation has no arithmetic, so a list picks it.
        "Next": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": "/NAME/next",
                "Type": "String",
                "Value": {"Fn::Select": [{"Ref": "Priority"}, {"Fn::Split": [",", "1,2,3,4,5"]}]},
            },
        },
    },
    "listener_rule_priority_type": {
        "Listener": {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Properties": {
                "LoadBalancerArn": {"Ref": "Alb"},
                "Port": 80,
                "Protocol": "HTTP",
                "DefaultActions": [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
            },
        },
        # A literal priority, and one picked from a list (a string), as a template without arithmetic does.
        "First": _RULE | {"Properties": _RULE["Properties"] | {"Priority": 1}},
        "Second": _RULE | {"Properties": _RULE["Properties"] | {"Priority": {"Fn::Select": [1, ["1", "2"]]}}},
    },
}
# Parameters of the tiny templates that need any.
_PARAMETERS: dict[str, dict[str, Any]] = {"select_index_intrinsic": {"Priority": {"Type": "Number", "Default": 2}}}

# Gaps shown by the stacks of other gaps (see gap_probe).
GAPS = tuple(_GAPS)


def template(gap: str, name: str) -> dict[str, Any]:
    """The tiny template of ``gap``, its names prefixed with ``name`` (short, lower case)."""
    resources = copy.deepcopy(_NETWORK) | copy.deepcopy(_GAPS[gap])
    document: dict[str, Any] = {"Resources": json.loads(json.dumps(resources).replace("NAME", name))}
    if gap == "stack_update_dependents":
        document["Parameters"] = {"Tag": {"Type": "String", "Default": "1"}}
    if gap in _PARAMETERS:
        document["Parameters"] = copy.deepcopy(_PARAMETERS[gap])
    return document


def update_tag(endpoint_client: Any, gap_name: str, name: str, tag: str) -> None:
    """A parameter-only update of the ``stack_update_dependents`` stack: a new image tag."""
    endpoint_client.update_stack(
        StackName=name,
        TemplateBody=json.dumps(template(gap_name, name)),
        Parameters=[{"ParameterKey": "Tag", "ParameterValue": tag}],
    )


def attached_rule(name: str, listener_arn: str, user_group_arn: str) -> dict[str, Any]:
    """A stack that adds a target group and a weighted host rule to a listener it did not create."""
    return {
        "Resources": {
            "Waker": {
                "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                "Properties": {"Name": f"{name}-waker", "TargetType": "lambda"},
            },
            "Rule": {
                "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
                "Properties": {
                    "ListenerArn": listener_arn,
                    "Priority": 110,
                    "Conditions": [{"Field": "host-header", "HostHeaderConfig": {"Values": [f"{name}.example"]}}],
                    "Actions": [
                        {
                            "Type": "forward",
                            "ForwardConfig": {
                                "TargetGroups": [
                                    {"TargetGroupArn": user_group_arn, "Weight": 1},
                                    {"TargetGroupArn": {"Ref": "Waker"}, "Weight": 0},
                                ]
                            },
                        }
                    ],
                },
            },
        }
    }


def users_listener(elbv2: Any, ec2: Any, name: str) -> tuple[str, str]:
    """A listener (fixed 404 by default) and an ip target group made through the API, as a user's IaC would."""
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{index}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for index, zone in ((1, "us-east-1a"), (2, "us-east-1b"))
    ]
    balancer = elbv2.create_load_balancer(Name=f"{name}-users", Subnets=subnets)["LoadBalancers"][0]
    group = elbv2.create_target_group(Name=f"{name}-app", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
    listener = elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )
    return listener["Listeners"][0]["ListenerArn"], group["TargetGroups"][0]["TargetGroupArn"]
