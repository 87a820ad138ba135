"""What kfp.local's own tests assert for the pipelines in the corpus's ``kfplocal/`` folder.

Keyed by file stem (``<TestClass>__<test>__<n>_<kind>``). Read from the tests of kfp 2.17.3
(``kfp/local/*_test.py``); each entry names its test. Keys:

- ``status``: ``succeeded``, ``failed`` or ``any`` (the test only checks the resolved command: kfp's
  test mocks Docker, so the command need not be a real program);
- ``command``: the resolved command line of the pipeline's one task (kfp passes command + args);
- ``command_contains``: a text the resolved command line holds;
- ``outputs``: the pipeline's outputs (for a one-task file: the task's outputs); an artifact is given as
  ``{"name", "uri_endswith", "uri", "metadata", "content"}`` (each optional);
- ``log_contains``: a text the task printed;
- ``offline``: why the file cannot pass on a machine without a package index (it is then reported
  as not runnable offline when it fails that way).
"""

from __future__ import annotations

from typing import Any

EXPECTED: dict[str, dict[str, Any]] = {
    # --- container components: the resolved command (Docker is mocked in kfp's tests) ---
    "TestE2E__test_concat_in_ifpresent_omitted__1_task": {
        "status": "any",
        "command": ["echo", "another thing"],
    },
    "TestE2E__test_concat_in_ifpresent_provided__1_task": {"status": "any", "command": ["echo", "something"]},
    "TestE2E__test_concat_placeholder__1_task": {"status": "any", "command": ["prefix-null-suffix"]},
    "TestE2E__test_container_component__1_task": {
        "status": "succeeded",
        "command": ["sh", "-c", "echo prefix-foo"],
    },
    "TestE2E__test_empty_container_component__1_task": {"status": "any", "command": []},
    "TestE2E__test_if_present_single_element_with_string_omitted__1_task": {
        "status": "succeeded",
        "command": ["echo", "No artifact provided!"],
    },
    "TestE2E__test_if_present_single_element_with_string_provided__1_task": {
        "status": "succeeded",
        "command": ["echo", "foo"],
    },
    "TestE2E__test_if_present_with_string_omitted__1_task": {
        "status": "succeeded",
        "command": ["echo", "No input provided!"],
    },
    "TestE2E__test_if_present_with_string_provided__1_task": {
        "status": "succeeded",
        "command": ["echo", "foo"],
    },
    "TestE2E__test_ifpresent_in_concat_omitted__1_task": {
        "status": "succeeded",
        "command": ["echo", "there is another thing"],
    },
    "TestE2E__test_ifpresent_in_concat_provided__1_task": {
        "status": "succeeded",
        "command": ["echo", "there is one thing"],
    },
    "TestE2E__test_nested_concat_placeholder__1_task": {"status": "succeeded", "command": ["echo", "abcd"]},
    "TestE2E__test_python__1_task": {"status": "succeeded", "command_contains": "def artifact_maker"},
    # pipeline_orchestrator_test.py TestFstringContainerComponent.test_fstring_container_component
    "TestFstringContainerComponent__test_fstring_container_component__1_pipeline": {
        "status": "succeeded",
        "outputs": {"Output": "foo-bar-baz"},
    },
    # --- lightweight Python components (subprocess_task_handler_test.py) ---
    "TestLightweightPythonComponentLogic__test_many_primitives_in_and_out__1_task": {
        "status": "succeeded",
        "outputs": {
            "string": "foo",
            "integer": 1,
            "decimal": 3.14,
            "boolean": True,
            "l": ["a", "b"],
            "d": {"x": "y"},
        },
    },
    "TestLightweightPythonComponentLogic__test_multiple_artifact_outputs_pythonic__1_task": {
        "status": "succeeded",
        "outputs": {
            "a": {"name": "a", "uri_endswith": "/a", "content": "hello", "metadata": {"foo": "bar"}},
            "b": {"name": "b", "uri_endswith": "/b", "content": "goodbye", "metadata": {"baz": "bat"}},
        },
    },
    "TestLightweightPythonComponentLogic__test_multiple_artifact_outputs_traditional__1_task": {
        "status": "succeeded",
        "outputs": {
            "a": {"name": "a", "uri_endswith": "/a", "content": "hello", "metadata": {"foo": "bar"}},
            "b": {"name": "b", "uri_endswith": "/b", "content": "goodbye", "metadata": {"baz": "bat"}},
        },
    },
    "TestLightweightPythonComponentLogic__test_optional_param__1_task": {
        "status": "succeeded",
        "outputs": {"Output": "is none"},
    },
    "TestLightweightPythonComponentLogic__test_outputpath__1_task": {
        "status": "succeeded",
        "outputs": {"out_param": "HelloHello", "Output": 1},
    },
    # kfp.local permits an OutputPath that was never written: the task succeeds with no outputs.
    "TestLightweightPythonComponentLogic__test_outputpath_result_not_written__1_task": {
        "status": "succeeded",
        "outputs": {},
    },
    "TestLightweightPythonComponentLogic__test_placeholder_default_resolved__1_task": {
        "status": "succeeded",
        "outputs": {"Output": "identity"},
    },
    "TestLightweightPythonComponentLogic__test_single_artifact_output_pythonic__1_task": {
        "status": "succeeded",
        "outputs": {
            "Output": {"name": "a", "uri_endswith": "/a", "content": "hello", "metadata": {"foo": "bar"}}
        },
    },
    "TestLightweightPythonComponentLogic__test_single_artifact_output_traditional__1_task": {
        "status": "succeeded",
        "outputs": {"a": {"name": "a", "uri_endswith": "/a", "content": "hello", "metadata": {"foo": "bar"}}},
    },
    "TestLightweightPythonComponentLogic__test_single_output_not_available__1_task": {
        "status": "succeeded",
        "outputs": {"x": "foo", "y": "foo"},
    },
    "TestLightweightPythonComponentLogic__test_single_output_simple_case__1_task": {
        "status": "succeeded",
        "outputs": {"Output": "hello"},
    },
    "TestLightweightPythonComponentLogic__test_str_input_uses_default__1_task": {
        "status": "succeeded",
        "outputs": {"Output": "hi"},
    },
    # --- pipelines (pipeline_orchestrator_test.py TestRunLocalPipeline) ---
    "TestRunLocalPipeline__test_all_param_io__1_pipeline": {
        "status": "succeeded",
        "outputs": {
            "another_string": "default",
            "another_float": 2.718,
            "another_integer": 10,
            "another_boolean": False,
            "another_list": ["item1", "item2"],
            "another_dict": {"baz": "bat"},
        },
    },
    "TestRunLocalPipeline__test_artifact_io__1_pipeline": {
        "status": "succeeded",
        "outputs": {
            "Output": {
                "name": "model",
                "uri_endswith": "/make-model/model",
                "content": "texttext",
                "metadata": {"framework": "tensorflow", "dataset": {"framework": "pandas"}},
            }
        },
    },
    "TestRunLocalPipeline__test_can_run_loaded_pipeline__1_pipeline": {
        "status": "succeeded",
        "outputs": {"Output": "foo"},
    },
    "TestRunLocalPipeline__test_condition_supported__1_pipeline": {"status": "succeeded"},
    "TestRunLocalPipeline__test_deeply_nested_fails_with_raise_on_error_false__1_pipeline": {
        "status": "failed",
        "log_contains": "Nested failure!",
    },
    "TestRunLocalPipeline__test_deeply_nested_fails_with_raise_on_error_true__1_pipeline": {
        "status": "failed",
        "log_contains": "Nested failure!",
    },
    "TestRunLocalPipeline__test_embedded_artifact_local_exec__1_pipeline": {
        "status": "succeeded",
        "outputs": {"Output": {"content": "EMBED"}},
    },
    "TestRunLocalPipeline__test_fails_with_raise_on_error_false__1_pipeline": {
        "status": "failed",
        "log_contains": "Error from raise_component.",
    },
    "TestRunLocalPipeline__test_fails_with_raise_on_error_true__1_pipeline": {
        "status": "failed",
        "log_contains": "Error from raise_component.",
    },
    "TestRunLocalPipeline__test_fstring_python_component__1_pipeline": {
        "status": "succeeded",
        "outputs": {"Output": "foo-bar-baz"},
    },
    "TestRunLocalPipeline__test_importer__1_pipeline": {
        "status": "succeeded",
        "outputs": {
            "Output": {
                "name": "artifact",
                "uri": "/local/path/to/dataset",
                "metadata": {"message": ["hello", "world"]},
            }
        },
    },
    # kfp's test checks that running without local.init() raises; the pipeline itself succeeds.
    "TestRunLocalPipeline__test_must_initialize__1_pipeline": {"status": "succeeded"},
    "TestRunLocalPipeline__test_no_io__1_pipeline": {"status": "succeeded", "outputs": {}},
    "TestRunLocalPipeline__test_notebook_component_invalid_notebook_raises__1_pipeline": {"status": "failed"},
    "TestRunLocalPipeline__test_notebook_component_local_exec__1_pipeline": {
        "status": "succeeded",
        "outputs": {"Output": "hi"},
        "offline": "runs a notebook with nbclient, which the component installs at run time",
    },
    "TestRunLocalPipeline__test_parallel_for_supported__1_pipeline": {"status": "succeeded"},
    "TestRunLocalPipeline__test_parallel_for_uses_iterator_policy_parallelism_limit__1_pipeline": {
        "status": "succeeded"
    },
    "TestRunLocalPipeline__test_parallel_for_with_max_concurrent_pip_installs__1_pipeline": {
        "status": "succeeded"
    },
    "TestRunLocalPipeline__test_parallel_for_with_venv__1_pipeline": {
        "status": "succeeded",
        "offline": "installs numpy at run time",
    },
    "TestRunLocalPipeline__test_parallel_for_with_venv_race_condition__1_pipeline": {
        "status": "succeeded",
        "offline": "installs numpy at run time",
    },
    "TestRunLocalPipeline__test_pipeline_in_pipeline_complex__1_pipeline": {
        "status": "succeeded",
        "outputs": {"Output": 44.745992817228334},
    },
    "TestRunLocalPipeline__test_pipeline_in_pipeline_simple__1_pipeline": {
        "status": "succeeded",
        "outputs": {"Output": "foo"},
    },
    "TestRunLocalPipeline__test_single_nested_fails_with_raise_on_error_false__1_pipeline": {
        "status": "failed",
        "log_contains": "Nested failure!",
    },
    "TestRunLocalPipeline__test_single_nested_fails_with_raise_on_error_true__1_pipeline": {
        "status": "failed",
        "log_contains": "Nested failure!",
    },
    "TestRunLocalPipeline__test_single_return__1_pipeline": {
        "status": "succeeded",
        "outputs": {"Output": "text"},
    },
    "TestRunLocalPipeline__test_workspace_functionality__1_pipeline": {
        "status": "succeeded",
        "outputs": {"Output": "Test workspace functionality!"},
    },
    # --- subprocess_task_handler_test.py TestSubprocessRunner / TestUseVenv ---
    "TestSubprocessRunner__test_basic__1_task": {"status": "succeeded", "log_contains": "foobar!"},
    # kfp.local's SubprocessRunner refuses these two (its own limitation); with Docker they run.
    "TestSubprocessRunner__test_cannot_run_container_component__1_task": {
        "status": "succeeded",
        "log_contains": "foo",
    },
    "TestSubprocessRunner__test_cannot_run_containerized_python_component__1_task": {"status": "succeeded"},
}

# Parameters a corpus file needs beyond "a value of the declared type" (the harness's default).
PARAMETERS: dict[str, dict[str, Any]] = {
    # The backend's test names an environment variable that the task's container has.
    "backend_v2/env-var.yaml": {"env_var": "HOME"},
    "valid/env-var.yaml": {"env_var": "HOME"},
    # The sample naps 15 minutes by default; a 5-second nap exercises the same pipeline.
    "valid/take_nap_compiled.yaml": {"naptime_secs": 5},
    "valid/take_nap_pipeline_root_compiled.yaml": {"naptime_secs": 5},
}

# Files outside valid__failing/ that KFP runs to a failure by design (their folder says only that they
# compile).
OUTCOMES: dict[str, str] = {
    # fail_op calls sys.exit(1); the sample shows the exit task (a pipeline) running after the failure.
    "valid/pipeline_as_exit_task.yaml": "fail",
    # The same fail_op, with an exit task reading its final status / a task ignoring the failure.
    "valid/pipeline_with_task_final_status.yaml": "fail",
    "valid/pipeline_with_task_using_ignore_upstream_failure.yaml": "fail",
    # Its exit task asserts the KFP open-source backend's state name 'COMPLETE'; kfp.local and Vertex
    # report 'SUCCEEDED' (as this runner does), so the assertion fails there too.
    "valid__critical/pipeline_with_input_status_state.yaml": "fail",
    # fail_always fails by design; the task after it ignores the failure and runs (kfp.local: the
    # pipeline fails too).
    "valid__local_execution/local_execution_pipeline_with_ignore_upstream_failure.yaml": "fail",
}
