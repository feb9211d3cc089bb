def test_lost_kafka_offsets_become_an_operator_message():
    from brain.ingest.bronze import explain_data_loss

    spark_error = RuntimeError(
        "[STREAM_FAILED] Query terminated with exception: Partition energy.energy_meter-0's offset was changed "
        "from 120 to 80, Some data may have been lost because they are not available in Kafka any more; either "
        "the data was aged out by Kafka or the topic may have been deleted before all the data in the topic was "
        "processed. If you don't want your streaming query to fail on such cases, set the source option "
        '"failOnDataLoss" to "false".')
    lost = explain_data_loss("energy.energy_meter", spark_error)
    assert lost is not None
    assert "energy.energy_meter" in str(lost) and "--recover-from-bronze" in str(lost)
    assert explain_data_loss("energy.energy_meter", RuntimeError("disk full")) is None
