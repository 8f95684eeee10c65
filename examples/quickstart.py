"""Sends one message to TopicTest and receives it (run against a cluster)."""
import threading, cometmq

got = threading.Event()
c = cometmq.PushConsumer(group="QuickstartConsumer", namesrv="127.0.0.1:9876", consume_from="FIRST_OFFSET")
c.subscribe("TopicTest", "*")
c.register_listener(lambda m: print("received", m.body, m.msg_id) or got.set() or True)
c.start()
with cometmq.Producer(group="QuickstartProducer", namesrv="127.0.0.1:9876") as p:
    print("sent", p.send("TopicTest", b"Hello CometMQ", tags="TagA"))
got.wait(30); c.shutdown()
