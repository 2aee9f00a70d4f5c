"""A local AWS built from template.yaml, and the scale-to-zero lifecycle played on it.

- :mod:`local_aws.endpoint`: moto's server on a free loopback port (or the Docker bridge), stopped cleanly.
- :mod:`local_aws.bridges`: the moto gaps a stack of template.yaml falls into, each bridged and tested.
- :mod:`local_aws.stack`: template.yaml through the SAM translator into the local CloudFormation.
- :mod:`local_aws.eventbus`, :mod:`local_aws.cloudwatch`, :mod:`local_aws.alb`: EventBridge delivery,
  alarm evaluation and the load balancer, read from the local endpoint.
- :mod:`local_aws.simulate`: the ECS tasks moto does not run, simulated visibly.
- :mod:`local_aws.demo` (``make demo``): the lifecycle as a timeline with expectations.
"""
