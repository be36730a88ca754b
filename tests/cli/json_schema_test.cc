// docs/json/taskpool.schema.json describes exactly what `taskpool --json`
// prints: every record message, every field, with the JSON type that
// protobuf's standard JSON mapping gives it.
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "taskpool/v1/cli_output.pb.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::cli {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

nlohmann::json LoadSchema() {
  std::ifstream file(TASKPOOL_JSON_SCHEMA_PATH);
  EXPECT_TRUE(file.good()) << "cannot read " << TASKPOOL_JSON_SCHEMA_PATH;
  return nlohmann::json::parse(file, nullptr, /*allow_exceptions=*/false);
}

// A $ref's target's name, or "" when `property` holds none.
std::string RefName(const nlohmann::json& property) {
  const nlohmann::json* holder = &property;
  if (property.contains("allOf")) holder = &property["allOf"][0];
  if (!holder->contains("$ref")) return "";
  const std::string ref = (*holder)["$ref"].get<std::string>();
  return ref.substr(ref.rfind('/') + 1);
}

// What the mapping prints for one value of `field`.
void ExpectValueSchema(const FieldDescriptor& field, const nlohmann::json& value,
                       std::set<std::string>* referenced) {
  const std::string where = field.full_name();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_UINT32:
      EXPECT_EQ(value.value("type", ""), "integer") << where;
      break;
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT64:
      EXPECT_EQ(value.value("type", ""), "string") << where << ": 64-bit integers are strings";
      EXPECT_TRUE(value.contains("pattern")) << where;
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      EXPECT_EQ(value.value("type", ""), "boolean") << where;
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      EXPECT_EQ(value.value("type", ""), "number") << where;
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      EXPECT_EQ(value.value("type", ""), "string") << where;
      EXPECT_EQ(value.contains("contentEncoding"), field.type() == FieldDescriptor::TYPE_BYTES)
          << where << ": bytes, and only bytes, are base64";
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      EXPECT_EQ(RefName(value), field.enum_type()->name()) << where;
      referenced->insert(field.enum_type()->name());
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      EXPECT_EQ(RefName(value), field.message_type()->name()) << where;
      referenced->insert(field.message_type()->name());
      break;
  }
}

void ExpectMessageSchema(const Descriptor& message, const nlohmann::json& defs,
                         std::set<std::string>* referenced) {
  ASSERT_TRUE(defs.contains(message.name())) << "no $defs entry for " << message.name();
  const nlohmann::json& entry = defs[message.name()];
  const nlohmann::json& properties = entry["properties"];
  std::set<std::string> required;
  for (const auto& name : entry["required"]) required.insert(name.get<std::string>());
  EXPECT_EQ(properties.size(), static_cast<size_t>(message.field_count()))
      << message.name() << ": one property per field";
  for (int i = 0; i < message.field_count(); ++i) {
    const FieldDescriptor& field = *message.field(i);
    ASSERT_TRUE(properties.contains(field.name())) << field.full_name() << " is not in the schema";
    const nlohmann::json& property = properties[field.name()];
    if (field.is_repeated()) {
      EXPECT_EQ(property.value("type", ""), "array") << field.full_name();
      ExpectValueSchema(field, property["items"], referenced);
    } else {
      ExpectValueSchema(field, property, referenced);
    }
    // always_print_primitive_fields prints all but unset singular messages.
    const bool always_printed =
        field.is_repeated() || field.cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE;
    EXPECT_EQ(required.count(field.name()) == 1, always_printed) << field.full_name();
  }
}

TEST(JsonSchemaTest, EveryRecordAndEveryFieldIsDescribed) {
  const nlohmann::json schema = LoadSchema();
  ASSERT_TRUE(schema.is_object());
  const nlohmann::json& defs = schema["$defs"];
  std::set<std::string> records;
  for (const auto& record : schema["anyOf"]) records.insert(RefName(record));
  EXPECT_EQ(records, (std::set<std::string>{"TaskRecord", "ExecRecord", "StatusReply",
                                             "FunctionList", "PingRecord"}));

  std::set<std::string> referenced;
  std::set<std::string> checked;
  std::vector<const Descriptor*> todo = {
      v1::TaskRecord::descriptor(), v1::ExecRecord::descriptor(),
      v1::StatusReply::descriptor(), v1::FunctionList::descriptor(),
      v1::PingRecord::descriptor()};
  while (!todo.empty()) {
    const Descriptor* message = todo.back();
    todo.pop_back();
    if (!checked.insert(message->name()).second) continue;
    ExpectMessageSchema(*message, defs, &referenced);
    for (int i = 0; i < message->field_count(); ++i) {
      if (message->field(i)->message_type() != nullptr) {
        todo.push_back(message->field(i)->message_type());
      }
    }
  }
  // Enums list their value names, which is what the mapping prints.
  const auto* codes = v1::ErrorCode_descriptor();
  ASSERT_TRUE(defs.contains("ErrorCode"));
  std::vector<std::string> names;
  for (int i = 0; i < codes->value_count(); ++i) names.push_back(codes->value(i)->name());
  EXPECT_EQ(defs["ErrorCode"]["enum"].get<std::vector<std::string>>(), names);
}

}  // namespace
}  // namespace taskpool::cli
